"""A logging filter that masks secrets (URL passwords, bearer tokens) in every record before any
handler formats it: the message, its arguments and the `extra` fields."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from jobcore.masking import mask_obj, mask_text

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

# What every LogRecord has; everything else on a record came in through `extra` (or a filter).
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class SecretMaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_text(record.getMessage()) if record.args else mask_text(record.msg)
            record.args = None
        else:
            record.msg = mask_obj(record.msg)
            record.args = mask_obj(record.args) if isinstance(record.args, dict | tuple) else record.args
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str | dict | list):
                setattr(record, key, mask_obj(value))
        return True


def masking_logger() -> Logger:
    """The functions' Powertools JSON logger, with the filter above on it."""
    from aws_lambda_powertools import Logger  # the functions' dependency; the worker logs otherwise

    logger = Logger()
    logger.addFilter(SecretMaskingFilter())
    return logger
