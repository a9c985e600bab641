"""The PropertyWare (zeep) and ServiceFusion (requests) clients: transport, paging, retries, typed records.
They import nothing of the project but sync.errors; what they need is passed in.
"""
