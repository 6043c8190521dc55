"""`python -m cnnlab` runs the command-line tool."""

from cnnlab.command_line import main

if __name__ == "__main__":
    main()
