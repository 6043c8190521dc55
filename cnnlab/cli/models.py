"""`cnnlab models` and `cnnlab summary`."""

import typer


def register(app: typer.Typer) -> None:
    pass
