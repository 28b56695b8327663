"""The arguments that make a Moving MNIST forecasting run of the CLI take seconds: tiny (next-frame) model,
16 generated sequences of 4 + 3 frames of 32×32, one epoch."""

TINY_FORECAST = [
    "--model.init_args.name=convlstm_single_stack_tiny",
    "--model.init_args.model_kwargs={}",
    "--data.num_train=16",
    "--data.num_val=8",
    "--data.num_test=8",
    "--data.input_frames=4",
    "--data.target_frames=3",
    "--data.image_size=32",
    "--data.batch_size=4",
    "--data.num_workers=0",
    "--trainer.max_epochs=1",
    "--quiet",
]
