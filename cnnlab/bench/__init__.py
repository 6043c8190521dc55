"""cnnlab.bench"""
