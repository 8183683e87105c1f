"""How good the output is: text metrics, evaluation on labelled data, confidence calibration."""
