"""Run vocabx from a checkout without installing it: `python cli.py analyze ...`.

This file is not installed (installing it would put a top-level module named `cli` into site-packages and
shadow other packages' modules); the installed entry point is the `vocabx` console script.
"""

from vocabx.cli import main

if __name__ == "__main__":
    main()
