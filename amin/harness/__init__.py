"""The harness: everything built on the core and the judges (command line, ledger, evidence, file formats,
adversarial search, reports, the policy verifier). It may import every layer; nothing imports it
(docs/architecture.md)."""
