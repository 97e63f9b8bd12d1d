"""The pure core: records, money, the rule language and the decisions. No I/O, no clock."""
