"""The compiled kernels of `vocabx analyze` (everything else is in pyproject.toml). Not optional: they are the only
implementation of analyze's inner loops, so a machine without a C compiler and the Python headers fails the install
here, loudly, instead of installing a package that cannot analyze (why compiled: README, "The package")."""

from setuptools import Extension, setup

SOURCES = ["vocabx/analyze/_kernels.c", "vocabx/analyze/_jieba.c", "vocabx/analyze/_learn.c"]
setup(ext_modules=[Extension("vocabx.analyze._kernels", SOURCES, depends=["vocabx/analyze/_kernels.h"],
                             extra_compile_args=["-O3", "-std=c11"])])
