"""`python -m vocabx ...`, the same as the `vocabx` console script."""

from vocabx.cli.main import main

if __name__ == "__main__":
    main()
