"""UJET / Google CCAI Platform: the call API client and its sandbox twin, side by side.

- ``client.CcaiClient``: create outbound, incoming and scheduled calls, read a call, list
  calls page by page, read and update customer flags.
- ``models``: the call object and answers as dataclasses; ``errors``: ``CcaiError`` with a
  mnemonic per documented message; ``rules``: the create rules both ends share.
- ``webhooks``: the ``call.status_changed`` body the sandbox sends and its parser.
- ``sandbox.CcaiSandbox`` and ``sandbox_world``: the twin served under ``/ccai/``.
"""
