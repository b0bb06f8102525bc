"""Simulated chatter, crises and orders for the demo, the tests, the benchmarks and drills (应急演练).

week.py generates (generate_scenario, generate_week); orders.py the crisis product's orders; files.py
writes them; crisis.py, chatter.py, texts.py and draws.py make the posts; vocabulary.py holds the words;
catalogue.py reads the brands and products from config/lexicon.toml.
"""
