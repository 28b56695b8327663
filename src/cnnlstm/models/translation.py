"""Translation models: a convolutional (or BiLSTM) encoder and an attention LSTM decoder.

``conv_lstm_translator`` follows Gehring et al. 2017: the source's token embeddings plus learned
position embeddings go through two stacks of 1-D convolutions with gated linear units and
residual connections, one stack giving the attention keys (CNN-a) and one the values summed
into the context (CNN-c); the whole sentence is encoded in parallel. The encoder is initialised
as in Gehring et al.'s convolutional sequence-to-sequence work (embeddings ``N(0, 0.1)``, each
convolution feeding a GLU ``N(0, 4 (1 - dropout) / fan_in)``, linear maps
``N(0, (1 - dropout) / fan_in)``), so that the residual blocks scaled by ``sqrt(0.5)`` keep the
activations' scale at any depth. ``bilstm_translator`` is the
Bahdanau / Luong baseline, a bidirectional LSTM encoder, with the same decoder.

The decoder (:class:`AttentionLSTMDecoder`) is an LSTM (:class:`cnnlstm.nn.LSTM`) over the
previous target token's embedding and the previous attentional vector (input feeding, Luong et
al. 2015); dot-product attention of its output over the keys gives a context, and
``tanh(W [h; context])`` the attentional vector from which the next token's logits come. Its
``init_state`` / ``step`` run one target token at a time; teacher-forced training, greedy and
beam search (:mod:`cnnlstm.models.decoding`) and the exported ONNX step all use them.

``copy=True`` makes the decoder a pointer-generator (See et al. 2017) over the joint vocabulary:
a gate ``p_gen = sigmoid(w · [context; decoder output; decoder input] + b)`` mixes the output
softmax with the attention weights scattered onto the source's token ids,
``P(w) = p_gen P_vocab(w) + (1 - p_gen) Σ_{i: source_i = w} a_i``, so a token that the source
holds (a name, an identifier) can be written whatever its output-layer score. The decoder then
returns ``log P`` where it returns logits without copy: ``log_softmax`` of it is itself, so the
label-smoothed cross-entropy, greedy decoding and beam search read it unchanged.

Token ids: ``PAD = 0``, ``BOS = 1``, ``EOS = 2``; one vocabulary of ``num_classes`` tokens for
both sides (a joint SentencePiece or character vocabulary).

References:
    See, Liu & Manning, "Get To The Point: Summarization with Pointer-Generator Networks", ACL 2017.
    Gehring, Auli, Grangier & Dauphin, "A Convolutional Encoder Model for Neural Machine
    Translation", ACL 2017.
    Luong, Pham & Manning, "Effective Approaches to Attention-based Neural Machine Translation", EMNLP 2015.
    Bahdanau, Cho & Bengio, "Neural Machine Translation by Jointly Learning to Align and Translate", ICLR 2015.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from cnnlstm._validation import check_bool, check_dropout, check_positive_int
from cnnlstm.models._registry import register_model, with_defaults
from cnnlstm.nn.lstm import LSTM, lstm_step

__all__ = [
    "PAD",
    "AttentionLSTMDecoder",
    "BiLSTMEncoder",
    "ConvEncoder",
    "DecoderState",
    "Memory",
    "Translator",
    "pointer_mix",
]

PAD, BOS, EOS = 0, 1, 2


class Memory(NamedTuple):
    """What the encoder gives the decoder: ``keys`` and ``values`` ``(B, S, A)``, ``mask`` ``(B, S)`` (True: a token),
    and the source token ids ``(B, S)`` (attached by :meth:`Translator.encode`; a copying decoder needs them).

    Keys and values at padded positions may hold anything: the decoder never reads them.
    """

    keys: Tensor
    values: Tensor
    mask: Tensor
    source: Tensor | None = None


class DecoderState(NamedTuple):
    """The decoder's state between steps: LSTM ``h`` and ``c`` ``(L, B, H)``, the attentional vector ``feed`` ``(B, E)``."""

    h: Tensor
    c: Tensor
    feed: Tensor


def check_tokens(name: str, tokens: Tensor, vocab: int, *, what: str = "source") -> None:
    """Refuse anything but int64 ids ``(B, S)`` in ``[0, vocab)`` with a message naming the layout."""
    if tokens.dim() != 2 or tokens.dtype != torch.long:
        raise ValueError(
            f"{name} expects {what} token ids (B, S) of dtype int64; received shape {tuple(tokens.shape)} "
            f"dtype {tokens.dtype}"
        )
    if not torch.compiler.is_compiling() and tokens.numel() and (tokens.min() < 0 or tokens.max() >= vocab):
        raise ValueError(
            f"{name} expects {what} token ids in [0, {vocab}) (num_classes={vocab}); received ids "
            f"{int(tokens.min())}..{int(tokens.max())}"
        )


class GLUConvBlock(nn.Module):
    """``x + GLU(conv(x))`` scaled by ``sqrt(0.5)``, with padded positions zeroed in the output.

    Channels first, the convolution's own layout, so a stack of blocks never transposes: input
    and output ``(B, C, S)``. The input is zero at padding (the encoder's projection and every
    block's output are), so the convolution sees what it sees for each sentence alone (its own
    zero padding); ``scale`` ``(B, 1, S)`` is ``sqrt(0.5)`` at tokens and 0.0 at padding, the
    residual scaling and the padding mask in one product.
    """

    def __init__(self, channels: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, 2 * channels, kernel_size, padding=kernel_size // 2)
        self.drop = nn.Dropout(dropout)
        self.reset_parameters(dropout)

    def reset_parameters(self, dropout: float = 0.0) -> None:
        """Gehring et al.'s initialisation for a convolution feeding a GLU (ConvS2S, section 3.5).

        Weights ``N(0, 4 (1 - dropout) / (kernel_size * C))``, biases 0: the gate around 0.5
        quarters the variance of the linear half, so a factor 4 keeps ``Var(GLU(conv(x)))`` near
        ``Var(x)``, and ``(x + GLU) * sqrt(0.5)`` keeps the block's output at the input's scale
        (within about 10 % per block, ``tests/models/test_translation.py``). PyTorch's default
        (``U(±1/sqrt(fan_in))``, a 12× smaller variance) makes the GLU branch small, and each
        block then shrinks the signal by about 0.74 (close to ``sqrt(0.5)``).
        """
        fan_in = self.conv.in_channels * self.conv.kernel_size[0]
        nn.init.normal_(self.conv.weight, std=math.sqrt(4.0 * (1.0 - dropout) / fan_in))
        assert self.conv.bias is not None
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: Tensor, scale: Tensor) -> Tensor:
        y = self.conv(self.drop(x))  # (B, 2C, S)
        return (x + nn.functional.glu(y, dim=1)) * scale


class ConvEncoder(nn.Module):
    """Gehring et al. 2017's encoder: embeddings + positions, a key stack (CNN-a) and a value stack (CNN-c).

    Args:
        vocab_size: tokens in the vocabulary.
        embed_dim: token and position embedding size ``E``.
        channels: convolution channels ``C``.
        key_layers, value_layers: blocks in the attention-key stack and the value stack.
        kernel_size: odd convolution width.
        attention_dim: size ``A`` of keys and values.
        max_positions: longest source the position embeddings cover.
        dropout: dropout on embeddings and before every convolution.

    Call arguments:
        source: ``(B, S)`` token ids, padded with ``PAD``.

    Returns:
        :class:`Memory`: keys and values ``(B, S, A)`` and the token mask ``(B, S)``.
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        embed_dim: int,
        channels: int,
        key_layers: int,
        value_layers: int,
        kernel_size: int,
        attention_dim: int,
        max_positions: int,
        dropout: float,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be odd (same-length convolutions); received kernel_size={kernel_size}"
            )
        self.max_positions = check_positive_int("max_positions", max_positions)
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.positions = nn.Embedding(max_positions, embed_dim)
        self.drop = nn.Dropout(dropout)
        self.proj_in = nn.Linear(embed_dim, channels)
        self.key_stack = nn.ModuleList(
            GLUConvBlock(channels, kernel_size, dropout)
            for _ in range(check_positive_int("key_layers", key_layers))
        )
        self.value_stack = nn.ModuleList(
            GLUConvBlock(channels, kernel_size, dropout)
            for _ in range(check_positive_int("value_layers", value_layers))
        )
        self.key_proj = nn.Linear(channels, attention_dim)
        self.value_proj = nn.Linear(channels, attention_dim)
        # ConvS2S's initialisation: embeddings N(0, 0.1) (the padding row 0), linear maps
        # N(0, (1 - dropout) / fan_in) with biases 0, so that every stage keeps its input's scale.
        for embedding in (self.embed, self.positions):
            nn.init.normal_(embedding.weight, std=0.1)
        with torch.no_grad():
            self.embed.weight[PAD].zero_()
        for linear in (self.proj_in, self.key_proj, self.value_proj):
            nn.init.normal_(linear.weight, std=math.sqrt((1.0 - dropout) / linear.in_features))
            nn.init.zeros_(linear.bias)

    def forward(self, source: Tensor) -> Memory:
        steps = source.shape[1]
        if steps > self.max_positions:
            raise ValueError(
                f"source of {steps} tokens is longer than max_positions={self.max_positions}; build the "
                "model with a larger max_positions or shorten the input"
            )
        mask = source.ne(PAD)
        fmask = mask.unsqueeze(-1).to(self.embed.weight.dtype)  # (B, S, 1)
        positions = torch.arange(steps, device=source.device)
        x = self.drop(self.embed(source) + self.positions(positions))  # (B, S, E)
        h = (self.proj_in(x) * fmask).transpose(1, 2).contiguous()  # (B, C, S): the blocks' layout
        scale = fmask.transpose(1, 2) * math.sqrt(0.5)  # (B, 1, S)
        keys, values = h, h
        for block in self.key_stack:
            keys = block(keys, scale)
        for block in self.value_stack:
            values = block(values, scale)
        # Padded positions of keys and values are left as they are: attention gives them weight 0.
        return Memory(self.key_proj(keys.transpose(1, 2)), self.value_proj(values.transpose(1, 2)), mask)


def reverse_within_lengths(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row of ``x`` ``(B, S, F)`` within its first ``lengths[b]`` steps; padding stays at the end."""
    t = torch.arange(x.shape[1], device=x.device)[None, :]  # (1, S)
    rev = lengths[:, None] - 1 - t
    index = torch.where(rev >= 0, rev, t)  # (B, S)
    return x.gather(1, index.unsqueeze(-1).expand_as(x))


class BiLSTMEncoder(nn.Module):
    """A bidirectional LSTM over the source embeddings; keys and values are projections of its output.

    Each layer runs one :class:`cnnlstm.nn.LSTM` forward and one over each sentence reversed
    within its length, so padding (always at the end) never reaches a token's state: a padded
    batch encodes each sentence as it is encoded alone, with no data-dependent branch (the model
    exports).
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        embed_dim: int,
        hidden_size: int,
        num_layers: int,
        attention_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.drop = nn.Dropout(dropout)
        sizes = [embed_dim] + [2 * hidden_size] * (num_layers - 1)
        self.forward_layers = nn.ModuleList(LSTM(n, hidden_size, batch_first=True) for n in sizes)
        self.backward_layers = nn.ModuleList(LSTM(n, hidden_size, batch_first=True) for n in sizes)
        self.key_proj = nn.Linear(2 * hidden_size, attention_dim)
        self.value_proj = nn.Linear(2 * hidden_size, attention_dim)

    def forward(self, source: Tensor) -> Memory:
        mask = source.ne(PAD)
        lengths = mask.sum(1)
        fmask = mask.unsqueeze(-1).to(self.embed.weight.dtype)
        x = self.drop(self.embed(source)) * fmask  # (B, S, E)
        for fwd, bwd in zip(self.forward_layers, self.backward_layers, strict=True):
            ahead, _ = fwd(x)
            behind, _ = bwd(reverse_within_lengths(x, lengths))
            assert isinstance(ahead, Tensor) and isinstance(behind, Tensor)
            x = torch.cat([ahead, reverse_within_lengths(behind, lengths)], dim=-1) * fmask  # (B, S, 2H)
            x = self.drop(x)
        return Memory(self.key_proj(x) * fmask, self.value_proj(x) * fmask, mask)


def pointer_mix(logits: Tensor, gate: Tensor, attention: Tensor, source: Tensor) -> Tensor:
    """See et al.'s pointer-generator mixture, as log-probabilities over the joint vocabulary.

    ``log(p_gen softmax(logits)(w) + (1 - p_gen) Σ_{i: source_i = w} attention_i)`` with
    ``p_gen = sigmoid(gate)``, computed in log space (``logaddexp`` of the two weighted terms) so
    that no probability underflows in the output softmax's tail; a token the source lacks gets
    exactly ``log(p_gen P_vocab(w))``, with no ``log(0)`` in the gradients. Padded source
    positions (id ``PAD``) give no mass, whatever their attention weight.

    Args:
        logits: ``(..., V)`` output-layer scores, ``...`` being ``(B,)`` or ``(B, T)``.
        gate: ``(...)`` the generation gate's pre-activation.
        attention: ``(..., S)`` attention weights over the source (each row sums to 1).
        source: ``(B, S)`` source token ids, padded with ``PAD``.

    Returns:
        ``(..., V)`` log-probabilities (each row's exponentials sum to 1).

    Example:
        >>> logits, attention = torch.zeros(1, 4), torch.tensor([[0.75, 0.25]])
        >>> pointer_mix(logits, torch.zeros(1), attention, torch.tensor([[3, 2]])).exp()
        tensor([[0.1250, 0.1250, 0.2500, 0.5000]])
    """
    if attention.dim() == 3:  # teacher-forced (B, T, S): every target step copies from the same source
        source = source.unsqueeze(1).expand_as(attention)
    attention = attention.masked_fill(source.eq(PAD), 0.0)
    copied = torch.zeros_like(logits).scatter_add(-1, source, attention)  # (..., V)
    # log of the copy mass; -inf (exactly no mass) where the source lacks the token, through a
    # where() so that the gradient of the unused branch is finite
    present = copied > 0
    log_copied = torch.where(present, copied.clamp_min(torch.finfo(copied.dtype).tiny).log(), float("-inf"))
    generate = nn.functional.logsigmoid(gate).unsqueeze(-1) + torch.log_softmax(logits, dim=-1)
    point = nn.functional.logsigmoid(-gate).unsqueeze(-1) + log_copied
    return torch.logaddexp(generate, point)


class AttentionLSTMDecoder(nn.Module):
    """An LSTM decoder with dot-product attention and input feeding; one token per :meth:`step`.

    Args:
        vocab_size: output classes (the vocabulary).
        embed_dim: target embedding size ``E`` (also the attentional vector's size).
        hidden_size: LSTM hidden size ``H``.
        num_layers: stacked LSTM layers.
        attention_dim: size ``A`` of the encoder's keys and values.
        dropout: dropout on embeddings and on the attentional vector.
        tie_embeddings: the output layer reuses the target embedding matrix (Press & Wolf 2017).
        copy: a pointer-generator (See et al. 2017): :meth:`step` and :meth:`forward` return
            log-probabilities mixing the output softmax with the attention on the source's tokens
            (:func:`pointer_mix`) instead of logits; the memory must carry ``source``.
    """

    def __init__(
        self,
        *,
        vocab_size: int,
        embed_dim: int,
        hidden_size: int,
        num_layers: int,
        attention_dim: int,
        dropout: float,
        tie_embeddings: bool,
        copy: bool = False,
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.copy = check_bool("copy", copy)
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.drop = nn.Dropout(dropout)
        self.lstm = LSTM(
            embed_dim + embed_dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.init_proj = nn.Linear(attention_dim, 2 * num_layers * hidden_size)
        self.query_proj = nn.Linear(hidden_size, attention_dim, bias=False)
        self.combine = nn.Linear(hidden_size + attention_dim, embed_dim)
        self.out = nn.Linear(embed_dim, vocab_size)
        if tie_embeddings:
            self.out.weight = self.embed.weight
        # p_gen from [context (A); LSTM output (H); decoder input: embedding and fed vector (2E)]
        self.copy_gate = nn.Linear(attention_dim + hidden_size + 2 * embed_dim, 1) if copy else None

    def init_state(self, memory: Memory) -> DecoderState:
        """The state before the first token: ``h`` and ``c`` from the mean of the values, ``feed`` zeros."""
        fmask = memory.mask.unsqueeze(-1).to(memory.values.dtype)
        mean = (memory.values * fmask).sum(1) / fmask.sum(1).clamp(min=1.0)  # (B, A)
        layers, hidden = self.lstm.num_layers, self.lstm.hidden_size
        hc = torch.tanh(self.init_proj(mean)).view(-1, 2, layers, hidden)  # (B, 2, L, H)
        h = hc[:, 0].transpose(0, 1).contiguous()
        c = hc[:, 1].transpose(0, 1).contiguous()
        feed = mean.new_zeros(mean.shape[0], self.embed.embedding_dim)
        return DecoderState(h, c, feed)

    def step(self, token: Tensor, state: DecoderState, memory: Memory) -> tuple[Tensor, DecoderState, Tensor]:
        """One target token ``(B,)`` → logits ``(B, V)`` (with ``copy``: log-probabilities), the next
        state, attention weights ``(B, S)``."""
        x = torch.cat([self.drop(self.embed(token)), state.feed], dim=-1)  # (B, 2E)
        weight, bias = self._first_input_weights()
        top, h, c = self._lstm_layers(x @ weight.t() + bias, state.h, state.c)
        feed, weights, context = self._attend(top, memory)
        logits = self.out(self.drop(feed))
        if self.copy_gate is not None:
            gate = self.copy_gate(torch.cat([context, top, x], dim=-1)).squeeze(-1)  # (B,)
            logits = pointer_mix(logits, gate, weights, self._source(memory))
        return logits, DecoderState(h, c, feed), weights

    def forward(
        self, target: Tensor, memory: Memory, state: DecoderState | None = None
    ) -> tuple[Tensor, Tensor]:
        """Teacher-forced: decoder inputs ``(B, T)`` → logits ``(B, T, V)`` (with ``copy``:
        log-probabilities) and attention ``(B, T, S)``.

        Computes what :meth:`step` computes token by token, with the work that does not depend on
        the previous step done once for the whole target: the embeddings, their share of the
        first LSTM layer's input gates, the output layer and the copy gate.
        """
        if state is None:
            state = self.init_state(memory)
        width = self.embed.embedding_dim
        weight, bias = self._first_input_weights()
        embedded = self.drop(self.embed(target))  # (B, T, E)
        gates_embedded = embedded @ weight[:, :width].t() + bias  # (B, T, 4H)
        weight_feed = weight[:, width:].t()  # (E, 4H)
        h, c, feed = state
        fed, feeds, weights, tops, contexts = [], [], [], [], []
        # unbind, not indexing per step: one gradient stack instead of a zero-filled (B, T, 4H) per step
        for gates_t in gates_embedded.unbind(1):
            fed.append(feed)
            top, h, c = self._lstm_layers(gates_t + feed @ weight_feed, h, c)
            feed, attention, context = self._attend(top, memory)
            feeds.append(feed)
            weights.append(attention)
            tops.append(top)
            contexts.append(context)
        attention = torch.stack(weights, dim=1)  # (B, T, S)
        logits = self.out(self.drop(torch.stack(feeds, dim=1)))  # (B, T, V)
        if self.copy_gate is not None:
            inputs = [torch.stack(contexts, 1), torch.stack(tops, 1), embedded, torch.stack(fed, 1)]
            gate = self.copy_gate(torch.cat(inputs, dim=-1)).squeeze(-1)  # (B, T)
            logits = pointer_mix(logits, gate, attention, self._source(memory))
        return logits, attention

    def _source(self, memory: Memory) -> Tensor:
        if memory.source is None:
            raise ValueError(
                "a copying decoder (copy=True) needs the source token ids in memory.source; encode with "
                "Translator.encode, which attaches them"
            )
        return memory.source

    def _attend(self, top: Tensor, memory: Memory) -> tuple[Tensor, Tensor, Tensor]:
        """The attentional vector ``(B, E)``, the attention weights ``(B, S)`` and the context ``(B, A)``
        of the LSTM's output ``(B, H)``."""
        query = self.query_proj(top)  # (B, A)
        scores = torch.bmm(memory.keys, query.unsqueeze(-1)).squeeze(-1)  # (B, S)
        scores = scores.masked_fill(~memory.mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights.unsqueeze(1), memory.values).squeeze(1)  # (B, A)
        return torch.tanh(self.combine(torch.cat([top, context], dim=-1))), weights, context

    def _lstm_step(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One time step through every layer of ``self.lstm`` (its weights, :func:`lstm_step`'s
        equations) without the sequence machinery: ``x`` ``(B, F)`` → top output ``(B, H)``, new ``h``, ``c``."""
        weight, bias = self._first_input_weights()
        return self._lstm_layers(x @ weight.t() + bias, h, c)

    def _first_input_weights(self) -> tuple[Tensor, Tensor]:
        """The first LSTM layer's input weights ``(4H, 2E)`` (embedding columns, then feed) and bias ``(4H,)``."""
        return self.lstm.get_parameter("weight_ih_l0"), self.lstm.get_parameter("bias_ih_l0")

    def _lstm_layers(self, gates_x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`_lstm_step` given the first layer's input gates ``W_ih x + b_ih`` ``(B, 4H)``."""
        lstm = self.lstm
        hs: list[Tensor] = []
        cs: list[Tensor] = []
        for k in range(lstm.num_layers):
            if k > 0:
                x = hs[-1]
                if lstm.dropout > 0 and self.training:
                    x = nn.functional.dropout(x, p=lstm.dropout, training=True)
                gates_x = x @ getattr(lstm, f"weight_ih_l{k}").t() + getattr(lstm, f"bias_ih_l{k}")
            h_k, c_k = lstm_step(
                gates_x, h[k], c[k], getattr(lstm, f"weight_hh_l{k}"), getattr(lstm, f"bias_hh_l{k}")
            )
            hs.append(h_k)
            cs.append(c_k)
        return hs[-1], torch.stack(hs), torch.stack(cs)

    @staticmethod
    def reorder_state(state: DecoderState, index: Tensor) -> DecoderState:
        """The state of the batch rows ``index`` (beam search)."""
        return DecoderState(
            state.h.index_select(1, index), state.c.index_select(1, index), state.feed.index_select(0, index)
        )


class Translator(nn.Module):
    """An encoder (convolutional or BiLSTM) and :class:`AttentionLSTMDecoder`.

    Call arguments:
        source: ``(B, S)`` token ids ending in ``EOS``, padded with ``PAD``.
        target: ``(B, T)`` decoder inputs (``BOS`` then the target without its last token).

    With ``copy=True`` the decoder is a pointer-generator (See et al. 2017; :func:`pointer_mix`)
    and returns log-probabilities where it otherwise returns logits (softmax of either is the
    next token's distribution).

    Returns:
        logits ``(B, T, num_classes)``, teacher-forced: position ``t`` predicts token ``t + 1``.

    Example:
        >>> model = Translator(num_classes=20, encoder="conv", embed_dim=8, hidden_size=8, channels=8)
        >>> model(torch.tensor([[5, 6, 2]]), torch.tensor([[1, 7]])).shape
        torch.Size([1, 2, 20])
    """

    def __init__(
        self,
        *,
        num_classes: int,
        encoder: str = "conv",
        embed_dim: int = 256,
        hidden_size: int = 256,
        decoder_layers: int = 1,
        attention_dim: int | None = None,
        channels: int = 256,
        key_layers: int = 6,
        value_layers: int = 3,
        kernel_size: int = 3,
        encoder_hidden: int | None = None,
        encoder_layers: int = 1,
        max_positions: int = 256,
        dropout: float = 0.1,
        tie_embeddings: bool = False,
        copy: bool = False,
    ) -> None:
        super().__init__()
        self.num_classes = check_positive_int("num_classes", num_classes)
        embed_dim = check_positive_int("embed_dim", embed_dim)
        hidden_size = check_positive_int("hidden_size", hidden_size)
        attention_dim = check_positive_int("attention_dim", attention_dim or hidden_size)
        dropout = check_dropout(dropout)
        self.encoder_kind = encoder
        self.encoder: nn.Module
        if encoder == "conv":
            self.encoder = ConvEncoder(
                vocab_size=num_classes,
                embed_dim=embed_dim,
                channels=check_positive_int("channels", channels),
                key_layers=key_layers,
                value_layers=value_layers,
                kernel_size=check_positive_int("kernel_size", kernel_size),
                attention_dim=attention_dim,
                max_positions=max_positions,
                dropout=dropout,
            )
        elif encoder == "bilstm":
            self.encoder = BiLSTMEncoder(
                vocab_size=num_classes,
                embed_dim=embed_dim,
                hidden_size=check_positive_int("encoder_hidden", encoder_hidden or hidden_size // 2 or 1),
                num_layers=check_positive_int("encoder_layers", encoder_layers),
                attention_dim=attention_dim,
                dropout=dropout,
            )
        else:
            raise ValueError(f"encoder must be one of ['conv', 'bilstm']; received encoder={encoder!r}")
        self.decoder = AttentionLSTMDecoder(
            vocab_size=num_classes,
            embed_dim=embed_dim,
            hidden_size=hidden_size,
            num_layers=check_positive_int("decoder_layers", decoder_layers),
            attention_dim=attention_dim,
            dropout=dropout,
            tie_embeddings=check_bool("tie_embeddings", tie_embeddings),
            copy=check_bool("copy", copy),
        )
        if tie_embeddings:  # one joint vocabulary: the encoder shares the decoder's embeddings too
            self.encoder.embed = self.decoder.embed

    def encode(self, source: Tensor) -> Memory:
        """:class:`Memory` of a source batch ``(B, S)``, the source ids attached (the copy mechanism reads them)."""
        check_tokens(type(self).__name__, source, self.num_classes)
        return self.encoder(source)._replace(source=source)

    def forward(self, source: Tensor, target: Tensor) -> Tensor:
        return self.forward_with_attention(source, target)[0]

    def forward_with_attention(self, source: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Teacher-forced logits ``(B, T, V)`` (with ``copy``: log-probabilities) and attention weights ``(B, T, S)``."""
        check_tokens(type(self).__name__, target, self.num_classes, what="target")
        return self.decoder(target, self.encode(source))


def _create(encoder: str, defaults: dict[str, Any], kwargs: dict[str, Any]) -> Translator:
    return with_defaults(Translator, {"encoder": encoder, **defaults}, kwargs)


_CONV = dict(embed_dim=256, hidden_size=256, channels=256, key_layers=6, value_layers=3, kernel_size=3)
_CONV_TINY = dict(embed_dim=16, hidden_size=16, channels=16, key_layers=2, value_layers=1, kernel_size=3)
_BILSTM = dict(embed_dim=256, hidden_size=256, encoder_hidden=256, encoder_layers=1)
_BILSTM_TINY = dict(embed_dim=16, hidden_size=16, encoder_hidden=8, encoder_layers=1)


@register_model(task="seq2seq", modality="text", input_size=(64,), test_input_size=(7,))
def conv_lstm_translator(**kwargs: Any) -> Translator:
    """Convolutional encoder (Gehring et al. 2017: GLU blocks, key and value stacks) and an attention LSTM decoder."""
    return _create("conv", {**_CONV, "num_classes": 8000}, kwargs)


@register_model(task="seq2seq", modality="text", input_size=(64,), test_input_size=(7,))
def conv_lstm_translator_tiny(**kwargs: Any) -> Translator:
    """A tiny conv_lstm_translator for tests and tutorials."""
    return _create("conv", {**_CONV_TINY, "num_classes": 64, "dropout": 0.0}, kwargs)


@register_model(task="seq2seq", modality="text", input_size=(64,), test_input_size=(7,))
def bilstm_translator(**kwargs: Any) -> Translator:
    """Bidirectional-LSTM encoder and the same attention LSTM decoder (the Bahdanau/Luong baseline)."""
    return _create("bilstm", {**_BILSTM, "num_classes": 8000}, kwargs)


@register_model(task="seq2seq", modality="text", input_size=(64,), test_input_size=(7,))
def bilstm_translator_tiny(**kwargs: Any) -> Translator:
    """A tiny bilstm_translator for tests and tutorials."""
    return _create("bilstm", {**_BILSTM_TINY, "num_classes": 64, "dropout": 0.0}, kwargs)
