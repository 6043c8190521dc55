"""`python -m cnnlab` runs the command-line tool."""

from cnnlab.cli import main

if __name__ == "__main__":
    main()
