"""Test-session setup shared by every test."""

# Lightning attaches a StreamHandler to sys.stdout/stderr when it is first imported. `import
# cnnlstm.cli` no longer imports Lightning, so without this the first CLI test would import it
# under pytest's capture and bind the handler to a captured stream that is closed afterwards
# ("--- Logging error ---" in later tests). Importing it here binds the real streams.
import lightning.pytorch  # noqa: F401
