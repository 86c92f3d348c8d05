"""Problems beyond the paper that show how to add one: a damped oscillator (config/oscillator.yaml)."""
