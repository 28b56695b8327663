"""Doctests of the package (collected by pytest from ``src/cnnlstm``) see ``torch`` and ``cnnlstm``
and run in a temporary folder, so the files their examples write land there."""

import pytest
import torch

import cnnlstm


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict, tmp_path, monkeypatch) -> None:
    doctest_namespace.update(torch=torch, cnnlstm=cnnlstm, create_model=cnnlstm.create_model)
    monkeypatch.chdir(tmp_path)
