module gortlimits

go 1.19
