"""Each block class's JSON schema, generated once per process.

Why: Prefect builds a block's JSON schema from scratch whenever it asks for it, and asks
often. Serializing a block with its secrets (every ``save``) asks once per field, to find the
fields that hold secrets, and again for every nested block; saving a ``RunbookPolicy`` cost
about half a second of CPU, almost all of it schema generation. A class's schema never
changes while the process runs, so it is generated once, and each caller gets its own copy
(Prefect edits the dict it is given).
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic.json_schema import GenerateJsonSchema

_SCHEMAS: dict[tuple[Any, ...], dict[str, Any]] = {}


class SchemaCached:
    """Put first among a block's bases: ``class MyBlock(SchemaCached, Block)``."""

    @classmethod
    def model_json_schema(
        cls,
        by_alias: bool = True,
        ref_template: str = "#/definitions/{model}",
        schema_generator: type[GenerateJsonSchema] = GenerateJsonSchema,
        mode: Literal["validation", "serialization"] = "validation",
    ) -> dict[str, Any]:
        # The signature of Prefect's Block.model_json_schema, which this stands in front of.
        key = (cls, by_alias, ref_template, schema_generator, mode)
        schema = _SCHEMAS.get(key)
        if schema is None:
            schema = super().model_json_schema(  # type: ignore[misc]
                by_alias, ref_template, schema_generator, mode
            )
            _SCHEMAS[key] = schema
        return copy.deepcopy(schema)
