@_exported import Optimizers
