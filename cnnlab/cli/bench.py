"""`cnnlab bench ...`: benchmarks that print a table and a ratio against a baseline."""

import typer

app = typer.Typer(help="Benchmarks: each prints a table and a ratio against a baseline.",
                  no_args_is_help=True)
