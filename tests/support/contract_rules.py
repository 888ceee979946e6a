"""Names of the event contract only tests need, derived from pipeline.contract's table of field rules
(so a test reads the same bound and the same reason the pipeline uses)."""

from __future__ import annotations

from pipeline import contract

FUENTE_MAX_LENGTH = contract.FIELD["fuente"].max_length
UNIDAD_MAX_LENGTH = contract.FIELD["unidad"].max_length
FUENTE_NOT_UNICODE = contract.text_not_unicode("fuente")
UNIDAD_EMPTY = contract.text_empty("unidad")
UNIDAD_TOO_LONG = contract.text_too_long("unidad", UNIDAD_MAX_LENGTH)
UNIDAD_NOT_UNICODE = contract.text_not_unicode("unidad")


def fields_of_version(version: int) -> tuple[str, ...]:
    """The fields an event of `version` may carry (KeyError for a version that does not exist)."""
    return contract.REQUIRED_FIELDS + contract.OPTIONAL_FIELDS_BY_VERSION[version]
