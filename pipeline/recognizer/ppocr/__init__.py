"""Fine-tuning PP-OCR's line recognizer (the ONNX model the `rapidocr` engine runs) on an
archive's own lines: the ONNX graph run in torch with its weights trainable, CTC training on
Ray Train, and the tuned weights written back into the same graph."""
