"""Assets of the modelling layer: training set, model, evaluation, fairness audit, model card."""
