"""Checks JSON documents against the Compute v1 discovery document's
schemas (the copy in google-api-python-client's wheel, revision 20261106),
for the GCE emulator's fidelity test
(crates/imagecat-emulators/tests/integration/gce_fidelity.rs).

Usage: python schema_check.py < documents.json
  where the input is a JSON array of [schema name, document] pairs.

Every key a document holds must be a property of its schema (or of the
schema's `additionalProperties`), with the schema's JSON type: 64-bit
integers (format int64/uint64) as strings, enums one of their values,
nested `$ref`s checked the same way. Prints one line per problem and
"ok N" when there is none.
"""

import json
import sys

import googleapiclient
import os


def main():
    path = os.path.join(
        os.path.dirname(googleapiclient.__file__),
        "discovery_cache", "documents", "compute.v1.json",
    )
    with open(path) as f:
        dd = json.load(f)
    schemas = dd["schemas"]
    problems = []

    def check(value, schema, where):
        if "$ref" in schema:
            schema = schemas[schema["$ref"]]
        kind = schema.get("type")
        fmt = schema.get("format")
        if kind == "string":
            if not isinstance(value, str):
                problems.append(f"{where}: {value!r} is not a string (format {fmt})")
            elif "enum" in schema and value not in schema["enum"]:
                problems.append(f"{where}: {value!r} is not one of the enum's values")
        elif kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(f"{where}: {value!r} is not an integer")
        elif kind == "number":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                problems.append(f"{where}: {value!r} is not a number")
        elif kind == "boolean":
            if not isinstance(value, bool):
                problems.append(f"{where}: {value!r} is not a boolean")
        elif kind == "array":
            if not isinstance(value, list):
                problems.append(f"{where}: not an array")
            else:
                for i, item in enumerate(value):
                    check(item, schema.get("items", {}), f"{where}[{i}]")
        elif kind == "object" or "properties" in schema:
            if not isinstance(value, dict):
                problems.append(f"{where}: not an object")
                return
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            for key, item in value.items():
                if key in props:
                    check(item, props[key], f"{where}.{key}")
                elif extra is not None:
                    check(item, extra, f"{where}[{key!r}]")
                else:
                    problems.append(f"{where}: {key!r} is not a property of the schema")

    pairs = json.load(sys.stdin)
    for name, doc in pairs:
        if name not in schemas:
            problems.append(f"{name}: no such schema")
            continue
        check(doc, schemas[name], name)
    for p in problems:
        print(p)
    if not problems:
        print("ok", len(pairs))


if __name__ == "__main__":
    main()
