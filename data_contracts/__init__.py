"""data_contracts"""
