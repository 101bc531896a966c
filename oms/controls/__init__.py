"""The controls before money leaves (issue 15's shared core): the one decision the money path asks for at quote
time and again at execution (``decision.Controls``), the reviews a held transaction waits for and the operators'
decisions on them (``service.Reviews``). The checks themselves (the policy engine, screening) are ``Check``s
registered by the composition root; this package imports none of them, nor the transaction package: releasing
or refusing a held transfer goes through the ``HeldTransfers`` port the transaction package implements."""
