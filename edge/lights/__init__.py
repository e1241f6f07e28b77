"""The shelves' lights: the plan (what every slot should show), handing it to the shelf buses,
and the `lights/{shelf}` feed on the wire."""
