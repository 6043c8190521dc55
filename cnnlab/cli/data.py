"""`cnnlab data ...`: where the data came from, what it looks like."""

import typer

app = typer.Typer(help="Datasets: locate, download, inspect.", no_args_is_help=True)
