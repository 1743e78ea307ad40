"""The compiled kernels of `vocabx analyze` (everything else is in pyproject.toml). The extension is optional: where
no C compiler is found the build goes on without it, and analyze uses its numpy code instead (same results,
slower; `vocabx analyze` records which ran in its manifest)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("vocabx.analyze._kernels", ["vocabx/analyze/_kernels.c", "vocabx/analyze/_jieba.c",
                                                                  "vocabx/analyze/_learn.c"],
                             depends=["vocabx/analyze/_kernels.h"], optional=True,
                             extra_compile_args=["-O3", "-std=c11"])])
