/// Placeholder: replaced by the trainer.
public enum TrainingModule {}
