"""Distribution control: per-subdomain quotas from the recipe's shares and `prompts.target_total`.

- targets.py: the quota of each subdomain (largest remainder, so they add up to the total);
- status.py: `quota_status(store, recipe, pipeline)`, per subdomain the target, the prompts kept at the
  pipeline's last prompt step, those still on their way there, and the deficit (`sftgen status`, research);
- ledger.py: `QuotaLedger`, what the steps that make prompts may still make per subdomain in this run, and
  the reopening of profiles declined as `quota_full` when later steps dropped too many of a subdomain's prompts.
"""
