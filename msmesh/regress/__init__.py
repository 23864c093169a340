"""Feed-forward regressors: HMR (per frame) and t-HMMR (temporal), their weights, training and inference.

Entry points: ``hub.load_regressor`` (the shipped keypoint models by default; a ``msmesh train`` folder or the
authors' image checkpoints with ``--weights``), ``predict.regress_tracks`` (the pipeline's regress stage),
``keypoints`` (the feature layout of msmesh's own models), ``synth`` + ``landmark_noise`` (their synthetic
training data), ``train_keypoints`` (training / fine-tuning them), ``train.train_hmr`` / ``train.train_thmmr``
(image models), ``table3.run_table3`` (the temporal comparison on generated data).
"""
