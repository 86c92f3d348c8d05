"""The paper's four experiments (Holl and Thuerey, section 4): wave packet, billiards,
Kuramoto-Sivashinsky and incompressible Navier-Stokes (with its fluid solver, ``fluid``)."""
