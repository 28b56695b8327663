"""benchmarks/asr_real.py's pure helpers: index link, Sphinx transcriptions, TIDIGITS names, raw PCM.

No network: the sdist download itself is only run by the benchmark.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests._benchmarks import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("asr_real")


def test_sdist_link_takes_the_named_file_and_its_sha256(bench):
    page = (
        '<a href="https://h/p/pocketsphinx-5.1.0.tar.gz#sha256=00">a</a>\n'
        '<a href="https://h/p/pocketsphinx-5.1.1-cp311-x.whl#sha256=11">b</a>\n'
        '<a href="https://h/p/pocketsphinx-5.1.1.tar.gz#sha256=22" data-requires-python="&gt;=3.8">c</a>'
    )
    assert bench.sdist_link(page, "pocketsphinx-5.1.1.tar.gz") == (
        "https://h/p/pocketsphinx-5.1.1.tar.gz",
        "22",
    )
    with pytest.raises(ValueError, match="pocketsphinx-9.tar.gz"):
        bench.sdist_link(page, "pocketsphinx-9.tar.gz")


def test_parse_transcription_drops_sentence_marks_and_keeps_ids(bench):
    text = "<s> five five  </s> (004)\n\nfour six two five (man.ah.4625a)\nnot a line\n"
    assert bench.parse_transcription(text) == {"004": "five five", "man.ah.4625a": "four six two five"}


def test_tidigits_names_match_the_listed_transcripts(bench):
    # lines of the sdist's tidigits.lsn: the naming the dhd.2934z.raw reference relies on
    lsn = bench.parse_transcription(
        "five eight eight zero zero (man.ah.588zza)\noh seven eight nine (man.ah.o789a)\noh oh (woman.ak.ooa)\n"
    )
    assert all(bench.tidigits_reference(name) == words for name, words in lsn.items())
    assert bench.tidigits_reference("dhd.2934z.raw") == "two nine three four zero"


def test_read_raw_pcm_is_little_endian_int16_scaled(bench, tmp_path):
    samples = np.array([0, 1, -1, 32767, -32768, 12345], dtype="<i2")
    path = tmp_path / "x.raw"
    path.write_bytes(samples.tobytes())
    audio = bench.read_raw_pcm(path)
    assert audio.dtype == np.float32 and audio.shape == (6,)
    np.testing.assert_allclose(audio, samples / 32768.0, rtol=0, atol=1e-7)


def test_in_vocabulary_scores_only_in_vocabulary_references(bench):
    refs = ["five five", "ten of clubs"]
    scores = bench.scores(refs, ["five five", ""])
    assert scores["in_vocabulary"]["wer"] == 0.0 and scores["in_vocabulary"]["words"] == 2
    assert scores["all"]["wer"] == pytest.approx(3 / 5)
