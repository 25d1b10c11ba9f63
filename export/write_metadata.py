"""Attach TFLite metadata (names, descriptions, value ranges) to an export.

Runs in its OWN virtual environment with ``tflite-support`` (it pins
protobuf<4, which breaks TF 2.21; never install it into the project venv)::

    python3.11 -m venv ~/.venvs/tflite-meta
    ~/.venvs/tflite-meta/bin/pip install tflite-support==0.4.4
    ~/.venvs/tflite-meta/bin/python -m export.write_metadata exported/vox/float32

Reads ``model_card.json`` and rewrites every ``.tflite`` of the directory in
place (temporary file + ``os.replace``) with a ``TFLITE_METADATA`` buffer built
from the card. Only tflite-support's generated flatbuffer schemas are used, not
its native ``MetadataPopulator`` (which needs libusb on Linux); Android Studio's
model binding and ``MetadataDisplayer`` read the result.
"""

import json
import os
import sys
from pathlib import Path

import flatbuffers
from tensorflow_lite_support.metadata import metadata_schema_py_generated as meta
from tensorflow_lite_support.metadata import schema_py_generated as schema

METADATA_NAME = "TFLITE_METADATA"
MIN_PARSER_VERSION = "1.0.0"  # only name / description / stats fields are used


def tensor_metadata(entry):
    """TensorMetadataT from one card tensor entry."""
    tensor = meta.TensorMetadataT()
    tensor.name = entry["name"]
    tensor.description = (
        f"{entry['meaning']}; layout {entry['layout']}; "
        f"shape {entry['shape']}; range {entry['range']}"
    )
    tensor.content = meta.ContentT()
    tensor.content.contentPropertiesType = meta.ContentProperties.FeatureProperties
    tensor.content.contentProperties = meta.FeaturePropertiesT()
    if entry["range"] == "[0, 1]":
        tensor.stats = meta.StatsT()
        tensor.stats.min, tensor.stats.max = [0.0], [1.0]
    return tensor


def metadata_buffer(model_entry, card, input_names, output_names):
    """Serialized ModelMetadata with tensors in the subgraph's order."""
    by_name = {t["name"]: t for t in model_entry["inputs"] + model_entry["outputs"]}
    model_meta = meta.ModelMetadataT()
    model_meta.name = f"fomm-tf {model_entry['signature']}"
    model_meta.description = (
        f"First Order Motion Model, {card['mode']} export. Keypoints: "
        f"{card['keypoint_convention']}. Normalisation flags order: "
        f"{', '.join(card['normalization_flags']['order'])}."
    )
    model_meta.version = card["mode"]
    model_meta.minParserVersion = MIN_PARSER_VERSION
    subgraph = meta.SubGraphMetadataT()
    subgraph.inputTensorMetadata = [tensor_metadata(by_name[n]) for n in input_names]
    subgraph.outputTensorMetadata = [tensor_metadata(by_name[n]) for n in output_names]
    model_meta.subgraphMetadata = [subgraph]
    builder = flatbuffers.Builder(0)
    builder.Finish(model_meta.Pack(builder), file_identifier=b"M001")
    return bytes(builder.Output())


def _signature_names(model, tensors, indices):
    """Signature names of subgraph tensors (falls back to tensor names)."""
    names = {}
    for signature in model.signatureDefs or []:
        for item in (signature.inputs or []) + (signature.outputs or []):
            names[item.tensorIndex] = item.name.decode()
    return [names.get(i, tensors[i].name.decode()) for i in indices]


def with_metadata(model_bytes, model_entry, card):
    """Model bytes with the metadata buffer attached (replacing an old one)."""
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    subgraph = model.subgraphs[0]
    inputs = _signature_names(model, subgraph.tensors, subgraph.inputs)
    outputs = _signature_names(model, subgraph.tensors, subgraph.outputs)
    buffer = schema.BufferT()
    buffer.data = list(metadata_buffer(model_entry, card, inputs, outputs))
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata = [
        m for m in (model.metadata or []) if m.name.decode() != METADATA_NAME
    ] + [entry]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def write_directory(directory):
    directory = Path(directory)
    card_path = directory / "model_card.json"
    if not card_path.is_file():
        raise ValueError(f"{directory} has no model_card.json")
    card = json.loads(card_path.read_text())
    for entry in card["models"]:
        path = directory / entry["file"]
        content = with_metadata(path.read_bytes(), entry, card)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)
        print(f"{path}: metadata attached")


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: python -m export.write_metadata EXPORT_DIRECTORY")
    try:
        write_directory(argv[1])
    except (ValueError, OSError, KeyError) as error:
        sys.exit(f"export.write_metadata: error: {error}")


if __name__ == "__main__":
    main(sys.argv)
