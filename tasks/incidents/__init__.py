"""The incident domain: its states, stamps and levels (state.py), its queries (repository.py), and what
happens to it (service.py)."""
