"""cnnlab.data"""
