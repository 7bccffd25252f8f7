// SafeTensors
