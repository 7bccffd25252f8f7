# Epochs and training-example caps per built-in task, shared by the fine-tuning scripts
# (sourced: `source scripts/finetune-settings.sh`, then ${SETTINGS[$task]}), chosen so each
# task fine-tunes MiniLM in a few minutes on 2 cores.
declare -A SETTINGS=(
  [sentiment]="--set epochs=3"
  [hedge]="--set epochs=2"
  [wic]="--set epochs=2 --set max_train_examples=2000"
  [paraphrase]="--set epochs=2 --set max_train_examples=2000"
  [wordnet-choice]="--set epochs=2 --set max_train_examples=800"
  [wordnet-qa]="--set epochs=2 --set max_train_examples=1500"
  [pos]="--set epochs=2 --set max_train_examples=1500"
)
