"""Quality metrics of the StyleHEAT paper's Table 1 (PSNR, SSIM, LPIPS, FID, CSIM, AED, APD) and its protocols.

`python -m styleheat_core.evaluate --help`; settings and commands in docs/evaluation.md.
"""
