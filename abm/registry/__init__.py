"""The 法人番号 registry (国税庁 法人番号公表サイト) as reference data: import, match, status.

``layout`` names the published columns; ``store`` imports a download into an indexed cache;
``keys`` computes the vectorised probe keys the cache is indexed by; ``match`` anchors records to
registry corporations; ``link`` feeds the anchors into resolution; ``accounts`` adds the official
name and status to accounts. See docs/contract.md ("Reference data") and the README.
"""
