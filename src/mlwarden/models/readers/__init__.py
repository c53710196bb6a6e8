"""Readers for model formats that carry no pickle stream of their own (TF SavedModel, ONNX, chat templates,
skops, TorchServe .mar, torch distributed checkpoints, TorchScript code). Each module has a pure core over
bytes that returns problems and nested payloads, plus a thin ``FORMAT`` adapter for the scanner's table."""
