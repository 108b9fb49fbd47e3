"""The auditor's workbench (``kefu-lint review OUT/``): a local web application over an audit
database for filtering, reading and reviewing conversations (复核), disputes (申诉), trends
and calibration, and the overlay that feeds reviewers' verdicts back into the ruleset.

``data`` is the only module that reads the audit database (through its ``latest_*`` views)
and the only one that writes the review tables; ``app`` serves pages; ``charts`` draws SVG;
``overlay`` turns verdicts into a ruleset overlay. Importing this package imports no web
framework: ``kefu-lint[review]`` is needed only to serve.
"""
