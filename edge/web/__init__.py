"""The pharmacy's web page on the gateway (`rxedge web`): shelves, pick lists, alarms, find a
drug, expiring stock, stocktake, procurement and health, live.

A process of its own that reads the ledger read-only and acts only by sending the MQTT commands
the centre and the CLI send; live updates come from the gateway's topics and reach browsers as
Server-Sent Events. Everything it serves comes from the box itself.
"""
