"""The embedded ASPECTS model: anatomy, registration, phantoms, scoring and inference.

Never imports :mod:`readerstudy`; torch is imported only inside network, train and infer.
"""
