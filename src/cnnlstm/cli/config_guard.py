"""A bounded look at a YAML config before Lightning's parser reads it: no alias bombs.

YAML aliases (``*a``) repeat an anchored node (``&a``) without copying it, so a file of a few
hundred bytes with nested aliases ("billion laughs") stands for billions of nodes; the config
parser expands them and hangs. :func:`check_yaml_config` composes the file's node graph (linear
in the file's size), counts the nodes it expands to, sharing counts between aliases of one node,
and refuses a file that expands beyond :data:`MAX_EXPANDED_NODES` or refers to itself.

Example:
    >>> check_yaml_text("a: &x [1, 2]\\nb: [*x, *x]", "inline")
    13
    >>> levels = [f"k{i}: &k{i} [*k{i - 1}, *k{i - 1}, *k{i - 1}, *k{i - 1}]" for i in range(1, 12)]
    >>> check_yaml_text("\\n".join(["k0: &k0 [1, 2]", *levels]), "bomb.yaml")
    Traceback (most recent call last):
    ...
    cnnlstm.cli.errors.CLIError: config bomb.yaml expands to more than 100000 values through YAML aliases (&anchor / *alias); write the values out or use fewer nested aliases
"""

from __future__ import annotations

from pathlib import Path

import yaml

from cnnlstm.cli.errors import CLIError

__all__ = ["MAX_EXPANDED_NODES", "check_yaml_config", "check_yaml_text"]

# A config of a real experiment has hundreds of values (a list of class names, thousands); a
# hundred thousand leaves room for large lists and stops an alias bomb long before it costs time.
MAX_EXPANDED_NODES = 100_000


def check_yaml_config(path: str | Path) -> int:
    """Check the YAML file at ``path`` (see the module); return the number of values it expands to."""
    path = Path(path)
    return check_yaml_text(path.read_text(encoding="utf-8", errors="replace"), str(path))


def check_yaml_text(text: str, where: str) -> int:
    """Check YAML ``text`` (``where`` names it in errors); return the number of values it expands to.

    Text that is not valid YAML passes: the config parser reports it in its own words.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return 0
    sizes: dict[int, int] = {}
    total = sum(_expanded_size(node, sizes, set(), where) for node in nodes if node is not None)
    return total


def _expanded_size(node: yaml.Node, sizes: dict[int, int], open_: set[int], where: str) -> int:
    """Number of nodes ``node`` stands for once aliases are expanded (memoised per node object)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise CLIError(f"config {where} refers to itself through a YAML alias; write the values out")
    open_.add(key)
    size = 1
    if isinstance(node, yaml.SequenceNode):
        children: list[yaml.Node] = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    for child in children:
        size += _expanded_size(child, sizes, open_, where)
        if size > MAX_EXPANDED_NODES:
            raise CLIError(
                f"config {where} expands to more than {MAX_EXPANDED_NODES} values through YAML aliases "
                "(&anchor / *alias); write the values out or use fewer nested aliases"
            )
    open_.discard(key)
    sizes[key] = size
    return size
