"""`sftgen finetune`: the hand-off to training. The project's exports are written into a folder with a TRL
training script and its config (`handoff.py`), split by prompt (`split.py`); `--run` starts the script
when its Python has torch and a GPU (`launch.py`). sftgen itself never imports torch or TRL: the script does."""
