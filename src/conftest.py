"""Doctests of the package (collected by pytest from ``src/cnnlstm``) see ``torch`` and ``cnnlstm``."""

import pytest
import torch

import cnnlstm


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict) -> None:
    doctest_namespace.update(torch=torch, cnnlstm=cnnlstm, create_model=cnnlstm.create_model)
