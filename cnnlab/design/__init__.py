"""cnnlab.design"""
