"""lio: learnable inverse optimisation.

Solve many inverse problems jointly by reparameterising their solutions through a neural
network (Holl & Thuerey), and compare against BFGS, supervised training and the neural adjoint.
"""

__version__ = "0.1.0"
