"""`python -m vocabx.cli ...`: the form `accelerate launch -m` and `torchrun -m` need."""

from vocabx.cli.main import main

if __name__ == "__main__":
    main()
